// Worker for bench/s2a.ts: loads a saved classifier and predicts the sentences it is sent,
// timing only the prediction (a mining worker thread does the same).
import { parentPort, workerData } from 'node:worker_threads';
import { loadSentenceClassifier } from '../src/text/classifier/index.ts';

const { modelDir, sentences, repeats, batch } = workerData as {
  modelDir: string;
  sentences: string[];
  repeats: number;
  batch: number;
};
const clf = await loadSentenceClassifier(modelDir);
await clf.predict(sentences.slice(0, batch)); // warm-up
parentPort!.postMessage({ ready: true });
parentPort!.once('message', async () => {
  const t0 = performance.now();
  let n = 0;
  for (let r = 0; r < repeats; r++)
    for (let i = 0; i < sentences.length; i += batch) {
      const part = sentences.slice(i, i + batch);
      await clf.predict(part);
      n += part.length;
    }
  parentPort!.postMessage({ sentences: n, seconds: (performance.now() - t0) / 1000 });
});
