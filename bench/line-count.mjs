// Reference readers for bench/run.mjs: how fast can Node itself get through the file?
//   node bench/line-count.mjs split2 FILE   lines via fs stream | split2 (string lines)
//   node bench/line-count.mjs raw FILE      count '\n' bytes in 1 MiB chunks (I/O ceiling)
import { createReadStream } from 'node:fs';
import split2 from 'split2';

const [mode, file] = process.argv.slice(2);
let lines = 0;
if (mode === 'split2') {
  await new Promise((resolve, reject) => {
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('error', reject)
      .pipe(split2())
      .on('data', () => lines++)
      .on('end', resolve)
      .on('error', reject);
  });
} else if (mode === 'raw') {
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
} else {
  console.error('usage: line-count.mjs split2|raw FILE');
  process.exit(2);
}
console.log(`lines ${lines}`);
