/**
 * Every hot operation aimc owns, each declared once with a tfjs-ops reference and the native
 * engine's implementation behind one dispatch (kernel.ts). This list is the registry: a new
 * kernel is a module here, exported below, with an engine-vs-reference test in
 * test/tensor/kernels.test.ts.
 */
export {
  analogTile,
  inputPasses,
  clipQuantize,
  convertAdc,
  preAdcOutputs,
  type AdcColumns,
  type Span,
  type TileLayout,
  type TilePeriphery,
  type TileRead,
} from './analog-tile.js';
export { evalElementwise, type ElementwiseProgram } from './physics.js';
export { fillNormal, fillUniform, normalTensor, uniformTensor } from './sampling.js';
export { irDropConductances } from './ir-drop.js';
export { im2col, type Im2ColPadding } from './im2col.js';
export { layerNorm } from './layer-norm.js';
export { gelu, type GeluApprox } from './gelu.js';
export { softmaxCrossEntropy } from './softmax-xent.js';
export { adamwUpdate, type AdamWStep } from './adamw.js';
export { installNativeMatMul, uninstallNativeMatMul, nativeMatMulInstalled, nativeMatMulActive } from './matmul.js';
export { kernelDefs, withReferences, type Kernel, type KernelDef } from './kernel.js';
export { nativeAddon, nativeBuildStatus, nativeInfo, nativeUnavailableReason, type NativeAddon, type NativeInfo } from './engine.js';
