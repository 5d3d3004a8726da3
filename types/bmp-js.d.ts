declare module 'bmp-js' {
  interface BmpImage {
    width: number;
    height: number;
    /** ABGR bytes, 4 per pixel. */
    data: Buffer;
  }
  const bmp: {
    decode(buf: Buffer): BmpImage;
    encode(img: BmpImage): { data: Buffer; width: number; height: number };
  };
  export default bmp;
}
