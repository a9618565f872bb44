// Greedy CTC decoding, as keras_seq.models.ctc.decode_ctc(method="greedy"):
// take the most likely symbol at each step (the first on ties), merge
// repeats, drop blanks: B(a a - a b b) = "aab". A letter's confidence is
// the largest probability of that letter over the run of steps that made
// it, its span that run's first and last step, and the reading's
// probability the best path's, prod_t max_k y_t(k).

/**
 * Decode the first `steps` steps of `probabilities` (flat, steps x symbols,
 * row-major) over `alphabet` (a string, one character per symbol).
 * Returns {text, labels, confidences, spans, probability}.
 */
export function greedyDecode(probabilities, steps, alphabet, blank = 0) {
  const symbols = alphabet.length;
  if (!(steps >= 1) || probabilities.length < steps * symbols) {
    throw new Error(`greedyDecode needs at least ${steps} x ${symbols} probabilities, got ${probabilities.length}`);
  }
  const labels = [], confidences = [], spans = [];
  let previous = blank, probability = 1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    for (let k = 1; k < symbols; k++) if (probabilities[t * symbols + k] > probabilities[t * symbols + best]) best = k;
    const p = probabilities[t * symbols + best];
    probability *= p;
    if (best !== blank && best !== previous) {
      labels.push(best);
      confidences.push(p);
      spans.push([t, t]);
    } else if (best !== blank) {   // the same letter continues: extend its run
      confidences[confidences.length - 1] = Math.max(confidences[confidences.length - 1], p);
      spans[spans.length - 1][1] = t;
    }
    previous = best;
  }
  return { text: labels.map((k) => alphabet[k]).join(''), labels, confidences, spans, probability };
}
