// How an overlap report reads: which hosts share which paths and bytes, and what is specific to each.
import { formatBytes } from '../core/bytes.ts';
import type { OverlapResult } from '../engine/overlap.ts';
import { code, context, escapeMrkdwn, header, message, section } from '../slack/blocks/kit.ts';
import type { SlackMessage } from './verb.ts';

export function overlapText(r: OverlapResult): string {
  const { report } = r;
  const width = Math.max(5, ...report.labels.map((l) => l.length));
  const lines = [
    `${'HOST'.padEnd(width)}  ${'PATHS'.padStart(6)}  ${'BYTES'.padStart(10)}  ${'SPECIFIC'.padStart(10)}  SHARED WITH ALL`,
  ];
  for (const l of report.perLabel) {
    lines.push(
      `${l.label.padEnd(width)}  ${String(l.paths).padStart(6)}  ${formatBytes(l.bytes).padStart(10)}  ` +
        `${formatBytes(l.specificBytes).padStart(10)}  ${formatBytes(l.sharedWithAllBytes)}`,
    );
  }
  lines.push('', 'shared by exactly these hosts:');
  for (const g of report.groups) {
    lines.push(
      `  ${formatBytes(g.bytes).padStart(10)} in ${String(g.paths).padStart(4)} paths  ${g.labels.join(', ')}`,
    );
  }
  if (r.plan) {
    const s = r.plan.summary;
    lines.push(
      '',
      `${r.plan.host}: ${formatBytes(s.presentBytes)} present (${s.presentPaths} paths); ` +
        s.sources.map((x) => `${formatBytes(x.bytes)} from ${x.source} (${x.paths} paths)`).join(', '),
    );
  }
  for (const m of r.missing) lines.push(`left out ${m.label}: ${m.reason}`);
  return lines.join('\n');
}

export function overlapSlack(r: OverlapResult): SlackMessage {
  const title = `Closure overlap of ${r.report.labels.length} systems`;
  return message(title, [
    header(title),
    section(code(escapeMrkdwn(overlapText(r)))),
    context(`run \`${r.runId}\``),
  ]);
}
