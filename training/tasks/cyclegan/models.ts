/**
 * CycleGAN's networks come from the builders shared with the CUT trainer (training/models/gan).
 * Re-exported here so existing imports keep working.
 */
export { buildDiscriminator, buildGenerator, seededInit, type GeneratorKind, type NetOptions } from '../../models/gan';
