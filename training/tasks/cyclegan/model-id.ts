/** CycleGAN model ids: every shipped one is `cyclegan-<name>` (manifest id, ONNX file, model card). */
export const CYCLEGAN_ID_PREFIX = 'cyclegan-';

/**
 * The name part of a CycleGAN model id, given either form: `summer2winter` or the full id
 * `cyclegan-summer2winter` (the prefix is not doubled).
 */
export function cycleganIdName(id: string): string {
  const name = id.startsWith(CYCLEGAN_ID_PREFIX) ? id.slice(CYCLEGAN_ID_PREFIX.length) : id;
  if (!name) throw new Error(`"${id}" is not a model id: give a name such as summer2winter (or cyclegan-summer2winter)`);
  return name;
}
