import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesizeSampleTemplate } from '../infra/synthesize.js';
import { type AslDefinition, extractDefinition, type Template } from './asl.js';

/** Graphviz attributes per state type. */
const NODE_STYLE: Record<string, string> = {
  Task: 'shape=box, style="rounded,filled", fillcolor="#e8f0fe", color="#4a6fa5"',
  Choice: 'shape=diamond, style=filled, fillcolor="#fff4d6", color="#b08900", fontsize=10',
  Succeed: 'shape=doublecircle, style=filled, fillcolor="#d9f2d9", color="#2e7d32", fontsize=10',
  Fail: 'shape=doubleoctagon, style=filled, fillcolor="#fde0dc", color="#c62828", fontsize=10',
};

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The label of a Choice rule: the value it compares with (`RUNNING`), or `A | B` for an Or. */
function ruleLabel(rule: Record<string, unknown>): string {
  if (Array.isArray(rule.Or))
    return rule.Or.map((inner) => ruleLabel(inner as Record<string, unknown>)).join(' | ');
  const value = Object.entries(rule).find(([key]) => key !== 'Variable' && key !== 'Next')?.[1];
  return String(value ?? '');
}

/**
 * A Graphviz DOT rendering of a definition: states top to bottom, Choice rules
 * labelled with the status they match, Catch transitions dashed and labelled with
 * the errors they catch.
 */
export function dotSourceOf(definition: AslDefinition): string {
  const lines = [
    'digraph stepdeploy {',
    '  rankdir=TB; nodesep=0.35; ranksep=0.4;',
    '  node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    '  "start" [shape=circle, label="", width=0.2, style=filled, fillcolor=black];',
    `  "start" -> ${quote(definition.StartAt)};`,
  ];
  for (const [name, state] of Object.entries(definition.States)) {
    lines.push(`  ${quote(name)} [label=${quote(name)}, ${NODE_STYLE[state.Type] ?? 'shape=box'}];`);
    if (state.Next) lines.push(`  ${quote(name)} -> ${quote(state.Next)};`);
    for (const choice of state.Choices ?? []) {
      lines.push(`  ${quote(name)} -> ${quote(choice.Next)} [label=${quote(ruleLabel(choice))}];`);
    }
    if (state.Default) lines.push(`  ${quote(name)} -> ${quote(state.Default)} [label="otherwise"];`);
    for (const handler of state.Catch ?? []) {
      const errors = handler.ErrorEquals.join(', ').replace('States.ALL', 'error');
      lines.push(
        `  ${quote(name)} -> ${quote(handler.Next)} [style=dashed, color="#c62828", fontcolor="#c62828", label=${quote(errors)}];`,
      );
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Writes `docs/flow.asl.json` and `docs/flow.svg` from the synthesized sample stack. */
export function exportDiagram(docsDir: string): { asl: string; svg: string } {
  const definition = extractDefinition(synthesizeSampleTemplate() as Template);
  mkdirSync(docsDir, { recursive: true });
  const asl = path.join(docsDir, 'flow.asl.json');
  const svg = path.join(docsDir, 'flow.svg');
  writeFileSync(asl, `${JSON.stringify(definition, null, 2)}\n`);
  try {
    writeFileSync(svg, execFileSync('dot', ['-Tsvg'], { input: dotSourceOf(definition) }));
  } catch (error) {
    throw new Error('Rendering the diagram needs Graphviz: install it (Debian: apt-get install graphviz).', {
      cause: error,
    });
  }
  return { asl, svg };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs');
  const written = exportDiagram(docs);
  process.stdout.write(
    `wrote ${path.relative(process.cwd(), written.asl)} and ${path.relative(process.cwd(), written.svg)}\n`,
  );
}
