// A bare page for keras_seq.demos.browser_runner: runs any .tflite file of this
// site with the demo's own runtime.js on one accelerator, and says where it ran.
//   window.kerasSeqRunner.ready         resolves to {webgpu: webGpuStatus()} once LiteRT.js is loaded
//   window.kerasSeqRunner.run(url, accelerator, values, repeats)
//     resolves to {output, outputShape, ranOn, fullyAccelerated, compileMs, firstMs, runMs: [repeats],
//              messages: [{level, text}] LiteRT logged meanwhile}

import { EdgeModel, loadRuntime, webGpuStatus } from './runtime.js';

// LiteRT writes what it delegates where (and why not) to the console: keep
// every line, so that run() can return the lines of its own compile and runs.
const logged = [];
for (const level of ['log', 'info', 'warn', 'error']) {
  const write = console[level].bind(console);
  console[level] = (...args) => {
    logged.push({ level, text: args.filter((a) => typeof a !== 'string' || !a.startsWith('background:')
                                                && !a.startsWith('font-weight') && !a.startsWith('color:'))
                                  .map(String).join(' ').replaceAll('%c', '') });
    write(...args);
  };
}

async function run(url, accelerator, values, repeats = 0) {
  const first = logged.length;
  try {
    return { ...(await compileAndRun(url, accelerator, values, repeats)), messages: logged.slice(first) };
  } catch (error) {
    error.message += `\nLiteRT said:\n${logged.slice(first).map((m) => m.text).join('\n')}`;
    throw error;
  }
}

async function compileAndRun(url, accelerator, values, repeats) {
  const start = performance.now();
  const model = await EdgeModel.load(url, { accelerator });
  const compiled = performance.now();
  try {
    const input = Float32Array.from(values);
    const output = await model.run(input);
    const firstMs = performance.now() - compiled;
    const runMs = [];
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      await model.run(input);
      runMs.push(performance.now() - t);
    }
    return { output: Array.from(output), outputShape: Array.from(model.model.getOutputDetails()[0].shape),
             ranOn: model.ranOn, fullyAccelerated: model.fullyAccelerated, compileMs: compiled - start, firstMs, runMs };
  } finally {
    model.delete();
  }
}

async function start() {
  await loadRuntime();
  const webgpu = await webGpuStatus();
  document.querySelector('[data-testid="status"]').textContent = 'ready';
  return { webgpu };
}

window.kerasSeqRunner = { run, ready: start() };
