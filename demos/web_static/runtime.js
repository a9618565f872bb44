// LiteRT.js, loaded from this site's own copy (no network): one CompiledModel
// per .tflite file and accelerator, batch 1. 'wasm' runs it on the CPU
// (XNNPACK in WebAssembly); 'webgpu' on the GPU, where the browser has WebGPU.

import { isWebGPUSupported, loadAndCompile, loadLiteRt, Tensor } from './litert/core/index.js';

export const ACCELERATORS = ['wasm', 'webgpu'];

let runtime = null;

/** Load LiteRT.js's WebAssembly once (the wasm/ folder is served beside the page). */
export function loadRuntime() {
  runtime = runtime || loadLiteRt(new URL('./litert/wasm/', import.meta.url).href);
  return runtime;
}

let gpu = null;

/**
 * Whether this browser can run models on WebGPU: resolves to {available, reason}
 * (reason says why not, e.g. no navigator.gpu or no adapter).
 */
export function webGpuStatus() {
  gpu = gpu || (async () => {
    if (!isWebGPUSupported()) return { available: false, reason: 'this browser has no WebGPU (navigator.gpu)' };
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { available: false, reason: 'WebGPU found no GPU adapter' };
    return { available: true, reason: '' };
  })();
  return gpu;
}

/** A compiled .tflite model with a float32 input of a fixed shape, on one accelerator. */
export class EdgeModel {
  /**
   * Compile `url` for `accelerator` ('wasm' or 'webgpu'). LiteRT.js runs a
   * model its GPU accelerator cannot take whole on wasm instead (with a
   * console warning): `ranOn` says where this one runs and
   * `fullyAccelerated` whether every op is on the accelerator asked for.
   */
  static async load(url, { accelerator = 'wasm' } = {}) {
    if (!ACCELERATORS.includes(accelerator)) {
      throw new Error(`accelerator '${accelerator}' is not one of ${ACCELERATORS.join(', ')}`);
    }
    if (accelerator === 'webgpu') {
      const status = await webGpuStatus();
      if (!status.available) throw new Error(`no WebGPU: ${status.reason}`);
    }
    await loadRuntime();
    const model = await loadAndCompile(new URL(url, import.meta.url).href, { accelerator });
    return new EdgeModel(model, accelerator);
  }

  constructor(model, accelerator) {
    this.model = model;
    this.accelerator = accelerator;
    this.ranOn = model.options.accelerator;
    this.fullyAccelerated = this.ranOn === accelerator && (accelerator === 'wasm' || model.isFullyAccelerated);
    const input = model.getInputDetails()[0];
    this.inputShape = Array.from(input.shape);
    this.inputSize = this.inputShape.reduce((a, b) => a * b, 1);
  }

  /** Free the compiled model (LiteRT.js memory is managed by hand). */
  delete() {
    this.model.delete();
  }

  /** Run one input (a Float32Array of the input's size); resolves to the first output as a Float32Array. */
  async run(values) {
    if (values.length !== this.inputSize) {
      throw new Error(`input has ${values.length} values, the model takes ${this.inputShape.join('x')}`);
    }
    let input = new Tensor(Float32Array.from(values), this.inputShape);
    try {
      if (this.ranOn !== 'wasm') {
        input = await input.moveTo(this.ranOn);
      }
      const outputs = await this.model.run(input);
      try {
        const first = outputs[0].accelerator === 'wasm' ? outputs[0] : await outputs[0].copyTo('wasm');
        const result = Float32Array.from(first.toTypedArray());
        if (first !== outputs[0]) first.delete();
        return result;
      } finally {
        for (const output of outputs) output.delete();
      }
    } finally {
      input.delete();
    }
  }
}
