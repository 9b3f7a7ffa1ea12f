// Writes numbered, timestamped lines at a steady rate: `<seq> <epoch ms>`, so whoever
// reads them back (tail-deploy) can tell the latency, and lines lost or repeated.
// Usage: node bench/workloads/write-lines.mjs <lines> <lines per second>
const total = Number(process.argv[2] ?? '2000');
const perSecond = Number(process.argv[3] ?? '200');
if (!(total > 0) || !(perSecond > 0)) {
  process.stderr.write('usage: write-lines.mjs <lines> <lines per second> (both positive numbers)\n');
  process.exit(64);
}

const started = Date.now();
let written = 0;

function writeDue() {
  const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * perSecond) + 1);
  let chunk = '';
  for (; written < due; written++) chunk += `${written} ${Date.now()}\n`;
  if (chunk) process.stdout.write(chunk);
  if (written < total) setTimeout(writeDue, 10);
}

writeDue();
