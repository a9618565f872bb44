// The page's CPU/GPU switch: every model compiled for LiteRT.js's 'wasm'
// (CPU) or 'webgpu' (GPU) accelerator, the panels rerun on the one picked,
// and the latest latency of each panel on each accelerator. Where the browser
// has no WebGPU the GPU choice is disabled and says why; a model may have a
// file of its own for an accelerator (the word reader's unrolled file for the
// GPU); a model the GPU cannot run whole (see `keras-seq export`'s "gpu
// accelerator" line) stays on the CPU, and the switch says which and why.

import { EdgeModel, webGpuStatus } from './runtime.js';

export const NAMES = { wasm: 'CPU (WebAssembly)', webgpu: 'GPU (WebGPU)' };

/** Compile `url` for `accelerator`; resolves to {model} or, where it cannot run there whole, {why}. */
async function compile(url, accelerator) {
  let model;
  try {
    model = await EdgeModel.load(url, { accelerator });
    if (!model.fullyAccelerated) {
      model.delete();
      return { why: `not every op runs on ${accelerator}` };
    }
    await model.run(new Float32Array(model.inputSize));   // a file the GPU compiles but cannot run fails here
    return { model };
  } catch (error) {
    if (model) model.delete();
    return { why: error.message.split('\n')[0] };
  }
}

export class AcceleratorSwitch {
  /**
   * `root`: the switch's element; `urls`: {name: .tflite url}; `cpuModels`: {name: EdgeModel on wasm};
   * `filesFor`: {accelerator: {name: url}}, a model's own file for that accelerator (the word reader's
   * unrolled file for the GPU, which runs no loop); `use(models, accelerator)`: puts a model set into the
   * panels and reruns them (a Promise).
   */
  constructor(root, urls, cpuModels, filesFor, use) {
    this.select = root.querySelector('[data-testid="accelerator"]');
    this.note = root.querySelector('[data-testid="accelerator-note"]');
    this.latencyLine = root.querySelector('[data-testid="accelerator-latency"]');
    this.urls = urls;
    this.filesFor = filesFor;
    this.use = use;
    this.sets = { wasm: { models: cpuModels, onCpu: {} } };
    this.current = 'wasm';
    this.latency = {};          // {panel: {accelerator: ms}}
    this.queue = Promise.resolve();
    this.select.addEventListener('change', () => this.choose(this.select.value));
  }

  /** Find out whether WebGPU is there; disable the GPU choice (saying why) where it is not. */
  async init() {
    this.webgpu = await webGpuStatus();
    const gpu = this.select.querySelector('option[value="webgpu"]');
    gpu.disabled = !this.webgpu.available;
    gpu.textContent = this.webgpu.available ? NAMES.webgpu : `GPU: not in this browser (${this.webgpu.reason})`;
    this.select.dataset.state = 'wasm';
    this.showNote();
    return this;
  }

  /** Switch every panel to `accelerator` (compiling its models the first time); calls run one after the other. */
  choose(accelerator) {
    this.queue = this.queue.then(() => this.switchTo(accelerator)).catch((error) => {
      this.note.textContent = `could not switch: ${error.message}`;
      console.error(error);
    });
    return this.queue;
  }

  async switchTo(accelerator) {
    if (!(accelerator in NAMES)) throw new Error(`accelerator '${accelerator}' is not one of ${Object.keys(NAMES)}`);
    if (accelerator === 'webgpu' && !this.webgpu.available) throw new Error(`no WebGPU: ${this.webgpu.reason}`);
    this.select.value = accelerator;
    this.select.disabled = true;
    this.select.dataset.state = 'busy';
    try {
      if (!this.sets[accelerator]) {
        this.note.textContent = `compiling the models for ${NAMES[accelerator]}…`;
        const cpu = this.sets.wasm.models;
        const set = { models: {}, onCpu: {} };
        for (const [name, url] of Object.entries(this.urls)) {
          const { model, why } = await compile((this.filesFor[accelerator] || {})[name] || url, accelerator);
          set.models[name] = model || cpu[name];
          if (!model) set.onCpu[name] = why;
        }
        this.sets[accelerator] = set;
      }
      this.current = accelerator;
      await this.use(this.sets[accelerator].models, accelerator);
    } finally {
      this.select.disabled = false;
      this.select.dataset.state = this.current;
      this.showNote();
    }
  }

  showNote() {
    const onCpu = Object.entries(this.sets[this.current].onCpu);
    this.note.textContent = `${NAMES[this.current]}`
      + (onCpu.length ? `; on the CPU instead: ${onCpu.map(([name, why]) => `${name} (${why})`).join('; ')}` : '');
  }

  /** Record a panel's latest run on the accelerator its model ran on, and show every panel on both. */
  record(panel, accelerator, ms) {
    this.latency[panel] = { ...this.latency[panel], [accelerator]: ms };
    this.latencyLine.textContent = Object.entries(this.latency).map(([name, byAccelerator]) => `${name}: `
      + Object.keys(NAMES).map((a) => `${a} ${a in byAccelerator ? `${byAccelerator[a].toFixed(1)} ms` : '–'}`)
        .join(', ')).join(' · ');
  }
}
