/**
 * What a config describes — its Linear sites and parameter count — without building the
 * model: `aimc model info` on a 355 M-parameter checkpoint reads config.json and the
 * safetensors header, not 1.4 GB of weights. It must agree with Transformer's constructor
 * exactly; test/model/layout.test.ts builds models and compares.
 */
import { isPreLn, type ModelConfig } from './config.js';
import type { SiteRole } from './linear.js';

export interface SiteShape {
  name: string;
  role: SiteRole;
  inFeatures: number;
  outFeatures: number;
  /** Weight and bias. */
  parameters: number;
}

export interface ModelLayout {
  sites: SiteShape[];
  /** Every parameter, sites, embeddings, norms and (when present) the masked-LM head. */
  parameters: number;
}

/** The layout of `c` (with the masked-LM head when `mlmHead`). */
export function modelLayout(c: ModelConfig, mlmHead = false): ModelLayout {
  const D = c.hiddenSize;
  const enc = c.arch === 'encoder';
  const sites: SiteShape[] = [];
  const site = (name: string, role: SiteRole, inF: number, outF: number) =>
    sites.push({ name, role, inFeatures: inF, outFeatures: outF, parameters: inF * outF + outF });
  const prefix = enc ? 'encoder' : 'decoder';
  for (let i = 0; i < c.numLayers; i++) {
    const p = `${prefix}.${i}`;
    for (const r of ['q', 'k', 'v', 'o'] as const) site(`${p}.attn.${r}`, `attn.${r}`, D, D);
    site(`${p}.ffn.in`, 'ffn.in', D, c.intermediateSize);
    site(`${p}.ffn.out`, 'ffn.out', c.intermediateSize, D);
  }
  if (enc && c.numLabels > 0) {
    site('head.dense', 'head', D, D);
    site('head.out', 'head', D, c.numLabels);
  }
  const positions = enc ? c.maxPositions + c.padTokenId + 1 : c.maxPositions;
  let other = c.vocabSize * D + positions * D + c.numLayers * 4 * D;
  if (enc) other += D + 2 * D; // token type, embedding LayerNorm
  if (isPreLn(c)) other += 2 * D;
  if (enc && mlmHead) other += D * D + D + 2 * D + c.vocabSize;
  return { sites, parameters: other + sites.reduce((a, s) => a + s.parameters, 0) };
}

/**
 * Floats a training step keeps per batch of `batch` × `seq` tokens: ~24 per token, layer and
 * width, plus 4 per token, layer and FFN unit (what memory estimates count, before weights).
 */
export function activationFloats(c: ModelConfig, batch: number, seq: number): number {
  return 24 * batch * seq * c.hiddenSize * c.numLayers + 4 * batch * seq * c.intermediateSize * c.numLayers;
}
