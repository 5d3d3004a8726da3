/**
 * CycleGAN losses. Discriminators output raw scores (logits for the vanilla loss).
 *  - lsgan (default, Mao et al. 2017, as in the CycleGAN paper): real -> 1, fake -> 0, squared error.
 *  - vanilla (Goodfellow et al. 2014): sigmoid cross-entropy on logits (the non-saturating G loss).
 *  - wgan-gp (Gulrajani et al. 2017): critic scores, D minimises E[D(fake)] - E[D(real)] + 10 GP.
 */
import * as tf from '@tensorflow/tfjs-core';

export const GAN_LOSSES = ['lsgan', 'vanilla', 'wgan-gp'] as const;
export type GanLoss = (typeof GAN_LOSSES)[number];

/** Adversarial loss of scores `d` against the target "real" (true) or "fake" (false). */
export function ganLoss(kind: GanLoss, d: tf.Tensor, targetReal: boolean): tf.Scalar {
  switch (kind) {
    case 'lsgan':
      return tf.mean(tf.square(targetReal ? tf.sub(d, 1) : d));
    case 'vanilla':
      // -log(sigmoid(d)) = softplus(-d); -log(1 - sigmoid(d)) = softplus(d)
      return tf.mean(tf.softplus(targetReal ? tf.neg(d) : d));
    case 'wgan-gp':
      return (targetReal ? tf.neg(tf.mean(d)) : tf.mean(d)) as tf.Scalar;
  }
}

/**
 * tfjs-core registers no gradient for comparison ops. First-order backprop never needs one, but
 * the WGAN-GP double backward pass walks through the masks that LeakyReLU's and ReLU's gradients
 * build with them (where(greater(x, 0), dy, alpha * dy)). Their true derivative is zero almost
 * everywhere, so zero gradients are exact. Registered once, only where none exists.
 */
export function registerComparisonGradients(): void {
  for (const kernelName of ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual']) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(saved[0]), b: () => tf.zerosLike(saved[1]) }),
    });
  }
}

/**
 * WGAN-GP gradient penalty: E[(||grad_x D(x_hat)||_2 - 1)^2] with x_hat a random per-sample
 * interpolation of real and fake. Needs a second derivative (the penalty's gradient w.r.t. D's
 * weights goes through grad_x D): tfjs records the inner backward pass on the outer tape, and
 * every op in the discriminators here (conv2d and its input gradient, leaky ReLU, instance norm,
 * add) has a differentiable gradient.
 */
export function gradientPenalty(d: (x: tf.Tensor) => tf.Tensor, real: tf.Tensor, fake: tf.Tensor, eps: tf.Tensor): tf.Scalar {
  registerComparisonGradients();
  const xHat = tf.add(tf.mul(eps, real), tf.mul(tf.sub(1, eps), fake));
  const g = tf.grad((x: tf.Tensor) => tf.sum(d(x)))(xHat);
  const norms = tf.sqrt(tf.add(tf.sum(tf.square(g), [1, 2, 3]), 1e-12));
  return tf.mean(tf.square(tf.sub(norms, 1)));
}

/** Fraction of patch scores the discriminator gets right (real: above the threshold; fake: below). */
export function dAccuracy(kind: GanLoss, dReal: tf.Tensor, dFake: tf.Tensor): { real: tf.Scalar; fake: tf.Scalar } {
  let threshold: tf.Tensor;
  if (kind === 'lsgan') threshold = tf.scalar(0.5);
  else if (kind === 'vanilla') threshold = tf.scalar(0);
  // A critic has no absolute threshold: the midpoint of the batch's mean real and fake scores.
  else threshold = tf.div(tf.add(tf.mean(dReal), tf.mean(dFake)), 2);
  return {
    real: tf.mean(tf.cast(tf.greater(dReal, threshold), 'float32')),
    fake: tf.mean(tf.cast(tf.lessEqual(dFake, threshold), 'float32')),
  };
}

export function l1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b)));
}

/** Global L2 norm of a list of gradients. */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
}
