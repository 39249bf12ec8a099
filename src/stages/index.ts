// Every Speech2Action stage kind, registered through the same public registry a plugin uses.
// The pipeline of the paper, in order: demo world (synthetic data) → screenplays → verb classes →
// speech/action pairs → Speech2Action classifier → its evaluation and mining thresholds → mining
// of captions → clip extraction → video training → few-shot fine-tuning → AVA/HMDB51 evaluation.
import type { AnyStageKind } from '../plan/stage-kind.ts';
import { kind as captionsMine } from './captions-mine.ts';
import { kind as clipsExtract } from './clips-extract.ts';
import { kind as demoWorld } from './demo-world.ts';
import { kind as pairsBuild } from './pairs-build.ts';
import { kind as s2aEvaluate } from './s2a-evaluate.ts';
import { kind as s2aTrain } from './s2a-train.ts';
import { kind as screenplayParse } from './screenplay-parse.ts';
import { kind as verbsMine } from './verbs-mine.ts';
import { kind as videoEvaluate } from './video-evaluate.ts';
import { kind as videoFinetune } from './video-finetune.ts';
import { kind as videoTrain } from './video-train.ts';

export const builtinKinds: AnyStageKind[] = [
  demoWorld,
  screenplayParse,
  verbsMine,
  pairsBuild,
  s2aTrain,
  s2aEvaluate,
  captionsMine,
  clipsExtract,
  videoTrain,
  videoFinetune,
  videoEvaluate,
];
