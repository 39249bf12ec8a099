// Renders docs/ERRORS.md from the catalogue in src/error-codes.ts (scripts/write-errors-doc.ts
// writes it; test/engine/errors.test.ts fails when the file drifts from the code).
import { ERROR_CODES } from './error-codes.ts';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderErrorsDoc(): string {
  const rows = ERROR_CODES.map((e) => `| \`${e.code}\` | ${e.exit} | ${cell(e.meaning)} | ${cell(e.hint)} |`);
  return [
    '# Errors',
    '',
    '<!-- Generated from src/error-codes.ts by `npm run errors-doc`; do not edit by hand. -->',
    '',
    'Problems a user can cause stop `exp` with a stable code, a message naming the file, key or line,',
    'and a hint saying what to do:',
    '',
    '```',
    '✖ [EXP_INPUT_MISSING] bert folder /models/bert does not exist',
    '  → bert_path must be a local folder with config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx (models are never downloaded)',
    '```',
    '',
    "The hint is the thrower's own when it has one, else the default hint of the code (below). The",
    "process then exits with the code's exit status. Other exit statuses: 0 success, 130 interrupted.",
    '',
    '- **Spec problems** (`EXP_SPEC_INVALID`) are all collected before anything runs and printed',
    '  together, each as `✖ message` / `→ at key.path (file:line:col)` / a hint, ending with',
    '  `N problems in the spec; nothing was run.`',
    '- **A stage that fails inside `exp run`** does not stop the other nodes: its node is marked',
    '  failed, its dependents are skipped, `exp run` prints `✖ <stage> failed (...): <message>` and',
    '  exits 1 at the end (the Exit column applies when a command itself stops on the error). The',
    "  code is kept in the node's failure record (`<runs>/cache/.failed/<key>.json`) and the stack",
    '  in its log (`exp show <key>`). A node that can never start (`EXP_RESOURCES_UNAVAILABLE`,',
    '  `EXP_KIND_UNREGISTERED`) fails at once, before any log or record is written.',
    '- **Bugs** (errors without one of these codes) outside a stage print one line',
    '  (`✖ exp <command>: unexpected error: ...`) and `exp` exits 1; `--debug` (or `EXP_DEBUG=1`)',
    '  adds the stack trace. The errors below never print one.',
    '',
    '| Code | Exit | Meaning | Default hint |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
