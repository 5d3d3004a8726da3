/**
 * The emitter table: tfjs layer className -> emitter. Like onnxruntime's kernel registry, one
 * entry per supported layer type; anything else is refused with a message naming the layer.
 * Pass `emitters` to the converter to add emitters for your own layer classes or override these.
 */
import type { Emitter } from './emitters/types';
import { conv2d } from './emitters/conv2d';
import { conv2dTranspose } from './emitters/conv2d-transpose';
import { depthwiseConv2d } from './emitters/depthwise-conv2d';
import { separableConv2d } from './emitters/separable-conv2d';
import { dense } from './emitters/dense';
import { activation, elu, leakyRelu, prelu, relu, softmax, thresholdedRelu } from './emitters/activations';
import { add, average, concatenate, maximum, minimum, multiply } from './emitters/merge';
import { batchNormalization } from './emitters/batch-norm';
import { instanceNorm } from './emitters/instance-norm';
import { cropping2d, reflectionPad2d, zeroPadding2d } from './emitters/padding';
import { upSampling2d } from './emitters/upsampling2d';
import { pixelShuffle } from './emitters/pixel-shuffle';
import { averagePooling2d, globalAveragePooling2d, globalMaxPooling2d, maxPooling2d } from './emitters/pooling';
import { flatten, identity, nestedModel, rescaling } from './emitters/core';

export const EMITTERS: Readonly<Record<string, Emitter>> = Object.freeze({
  // convolutions
  Conv2D: conv2d,
  Conv2DTranspose: conv2dTranspose,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Dense: dense,
  // activations
  Activation: activation,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  PReLU: prelu,
  ELU: elu,
  ThresholdedReLU: thresholdedRelu,
  Softmax: softmax,
  // merges
  Add: add,
  Multiply: multiply,
  Average: average,
  Maximum: maximum,
  Minimum: minimum,
  Concatenate: concatenate,
  // normalization
  BatchNormalization: batchNormalization,
  InstanceNorm: instanceNorm,
  // padding, resampling, pooling
  ZeroPadding2D: zeroPadding2d,
  ReflectionPad2D: reflectionPad2d,
  Cropping2D: cropping2d,
  UpSampling2D: upSampling2d,
  PixelShuffle: pixelShuffle,
  MaxPooling2D: maxPooling2d,
  AveragePooling2D: averagePooling2d,
  GlobalAveragePooling2D: globalAveragePooling2d,
  GlobalMaxPooling2D: globalMaxPooling2d,
  // identity at inference, reshaping
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Flatten: flatten,
  Rescaling: rescaling,
  // models used as layers
  Model: nestedModel,
  Functional: nestedModel,
  Sequential: nestedModel,
});

export function supportedLayerClasses(): string[] {
  return Object.keys(EMITTERS).sort();
}
