// LiteRT.js, loaded from this site's own copy (no network): one CompiledModel
// per .tflite file, run on the CPU (XNNPACK in WebAssembly), batch 1.

import { loadAndCompile, loadLiteRt, Tensor } from './litert/core/index.js';

let runtime = null;

/** Load LiteRT.js's WebAssembly once (the wasm/ folder is served beside the page). */
export function loadRuntime() {
  runtime = runtime || loadLiteRt(new URL('./litert/wasm/', import.meta.url).href);
  return runtime;
}

/** A compiled .tflite model with a float32 input of a fixed shape. */
export class EdgeModel {
  static async load(url) {
    await loadRuntime();
    const model = await loadAndCompile(new URL(url, import.meta.url).href, { accelerator: 'wasm' });
    return new EdgeModel(model);
  }

  constructor(model) {
    this.model = model;
    const input = model.getInputDetails()[0];
    this.inputShape = Array.from(input.shape);
    this.inputSize = this.inputShape.reduce((a, b) => a * b, 1);
  }

  /** Run one input (a Float32Array of the input's size); resolves to the first output as a Float32Array. */
  async run(values) {
    if (values.length !== this.inputSize) {
      throw new Error(`input has ${values.length} values, the model takes ${this.inputShape.join('x')}`);
    }
    const input = new Tensor(Float32Array.from(values), this.inputShape);
    try {
      const outputs = await this.model.run(input);
      const result = Float32Array.from(outputs[0].toTypedArray());
      for (const output of outputs) output.delete();
      return result;
    } finally {
      input.delete();
    }
  }
}
