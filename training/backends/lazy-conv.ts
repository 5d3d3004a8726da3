/**
 * Conv2D layers whose gradients are computed only when something needs them.
 *
 * tfjs-layers runs every Conv2D through `tf.fused.conv2d`, whose gradient is a `customGrad` that
 * computes the gradients of all its inputs at once: the tape drops the input gradient of a
 * network's first convolution (the image is no gradient target) only after it has been computed.
 * For the ResNet generator's 7x7 3->32 stem that is ~5% of a training step's kernel time, spent
 * at 8 GFLOP/s because the product has 3 output channels (docs/backends.md); every
 * discriminator's first conv does the same in its own update.
 *
 * GanvasConv2D is the same forward kernel (the backend's FusedConv2D, bias and linear/relu
 * activation inside) with a registered gradient whose parts are thunks, as tfjs's plain Conv2D
 * has: the tape calls only those it needs. The parts are the kernels tfjs's own gradients use
 * (Conv2DBackpropInput, Conv2DBackpropFilter, Sum), which have registered gradients themselves,
 * so second derivatives (WGAN-GP's gradient penalty) work as before.
 *
 * `installLazyConvGradients()` makes tfjs-layers' Conv2D use it for the common case (rank 2,
 * channels last, no dilation, linear or relu activation); everything else takes the stock path.
 * tests/backends/lazy-conv.test.ts compares values, parameter and input gradients and a
 * gradient penalty's gradients with the stock layer, and counts the input-gradient kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export const LAZY_CONV = 'GanvasConv2D';

type Activation = 'linear' | 'relu';
interface LazyConvAttrs {
  strides: [number, number];
  pad: 'same' | 'valid';
  activation: Activation;
}

/** Forward: the active backend's own FusedConv2D kernel. */
const forward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { strides, pad, activation } = attrs as unknown as LazyConvAttrs;
  const name = tf.getBackend();
  const fused = tf.getKernel(tf.FusedConv2D, name);
  if (!fused) throw new Error(`${LAZY_CONV}: backend ${name} has no FusedConv2D kernel`);
  return fused.kernelFunc({
    inputs: { x: inputs.x, filter: inputs.filter, bias: inputs.bias },
    backend,
    attrs: { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation } as unknown as tf.NamedAttrMap,
  });
};

const lazyConvGradient: tf.GradConfig = {
  kernelName: LAZY_CONV,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dys, saved, attrs) => {
    const dy = dys as tf.Tensor;
    const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, activation } = attrs as unknown as LazyConvAttrs;
    // d(loss)/d(pre-activation), made in each part: the tape runs every part in its own tidy, so
    // a tensor one part made is gone when the next runs
    const dPre = (): tf.Tensor4D => (activation === 'relu' ? tf.mul(dy, tf.step(y)) : dy) as tf.Tensor4D;
    const conv = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    return {
      x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dPre(), filter }, { ...conv, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dPre() }, { ...conv, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      bias: () => tf.sum(dPre(), [0, 1, 2]),
    };
  },
};

/** Conv2D layer internals the patched call reads (tfjs-layers 4.x). */
interface ConvLayer {
  rank: number;
  dataFormat: string;
  dilationRate: number | number[];
  strides: number[];
  padding: string;
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { getClassName(): string };
}

let stockCall: ((this: unknown, inputs: unknown, kwargs: unknown) => tf.Tensor | tf.Tensor[]) | null = null;

function conv2dPrototype(): { call: typeof stockCall } {
  const probe = tfl.layers.conv2d({ filters: 1, kernelSize: 1 });
  return Object.getPrototypeOf(probe) as { call: typeof stockCall };
}

/** Registers GanvasConv2D for `backendName` and routes eligible Conv2D layers through it (idempotent). */
export function installLazyConvGradients(backendName: string): void {
  if (!tf.getKernel(tf.FusedConv2D, backendName)) return; // the stock path then
  if (!tf.getKernel(LAZY_CONV, backendName)) tf.registerKernel({ kernelName: LAZY_CONV, backendName, kernelFunc: forward });
  if (!tf.getGradient(LAZY_CONV)) tf.registerGradient(lazyConvGradient);
  const proto = conv2dPrototype();
  if (stockCall) return;
  stockCall = proto.call;
  const stock = stockCall!;
  proto.call = function (this: unknown, inputs: unknown, kwargs: unknown) {
    const layer = this as ConvLayer;
    const activation = layer.activation.getClassName().toLowerCase();
    const dil = Array.isArray(layer.dilationRate) ? layer.dilationRate : [layer.dilationRate, layer.dilationRate];
    const eligible =
      layer.rank === 2 &&
      layer.dataFormat === 'channelsLast' &&
      dil.every((d) => d === 1) &&
      (activation === 'linear' || activation === 'relu') &&
      (layer.padding === 'same' || layer.padding === 'valid') &&
      tf.getKernel(LAZY_CONV, tf.getBackend()) !== undefined;
    if (!eligible) return stock.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const ins: tf.NamedTensorMap = { x, filter: layer.kernel.read() };
      if (layer.bias) ins.bias = layer.bias.read();
      const attrs: LazyConvAttrs = { strides: layer.strides as [number, number], pad: layer.padding as 'same' | 'valid', activation };
      return tf.engine().runKernel(LAZY_CONV, ins, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    });
  };
}

/** Puts tfjs-layers' own Conv2D call back (tests compare both). */
export function uninstallLazyConvGradients(): void {
  if (!stockCall) return;
  conv2dPrototype().call = stockCall;
  stockCall = null;
}
