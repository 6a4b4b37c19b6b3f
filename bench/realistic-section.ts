// The `realistic` section of `npm run bench`: runs bench/realistic.ts with the settings of `--realistic`.
import { benchRealistic, formatRealistic, realisticSettings, realisticSummary } from './realistic.ts';

export async function realistic(settings: string, summary: string[][]): Promise<void> {
  const r = await benchRealistic({ ...realisticSettings(settings), log: (l) => console.log(`  ${l}`) });
  console.log(`\n${formatRealistic(r)}`);
  // Everything measured, for reading again without a second run.
  console.log(`\nrealistic (JSON): ${JSON.stringify(r)}`);
  summary.push(...realisticSummary(r));
}
