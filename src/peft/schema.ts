/**
 * The config fields several plugins share, as one JSON Schema that each plugin's schema.json
 * references by $id (`{ "$ref": "aimc:plugin-base#/definitions/targets" }`), and the ajv
 * instance that validates plugin configs with it registered.
 *
 * ajv fills in a `default` only from the property schema itself, never from behind a $ref,
 * so these definitions carry none: each plugin states its defaults beside the $ref (they
 * differ between plugins anyway), and its description where it says more than the shared one.
 */
import { Ajv } from 'ajv';

/** The $id plugin schemas reference the shared definitions by. */
export const PLUGIN_BASE_ID = 'aimc:plugin-base';

/** The shared definitions (see plugins/README.md). */
export const PLUGIN_BASE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: PLUGIN_BASE_ID,
  title: 'config fields shared by aimc adapter plugins',
  definitions: {
    targets: {
      description: 'Sites to adapt: roles (attn.q, attn.k, attn.v, attn.o, ffn.in, ffn.out) or site-name globs (encoder.3.*).',
      type: 'array',
      items: { type: 'string', minLength: 1 },
      minItems: 1,
    },
    layers: {
      description: 'Only these layer indices (default: all layers).',
      type: 'array',
      items: { type: 'integer', minimum: 0 },
      minItems: 1,
    },
    placement: {
      description:
        'digital: the adapter computes in the digital periphery; merged: it is folded into the weights before they are programmed.',
      enum: ['digital', 'merged'],
    },
    groups: {
      description: "K: groups of a site's input features.",
      type: 'integer',
      minimum: 1,
    },
    grouping: {
      description:
        "contiguous: K blocks of adjacent features; permuted: the K values repeated ceil(D/K) times over a fixed random permutation of the D channels (seeded by the adapter's seed, saved with the adapter).",
      enum: ['contiguous', 'permuted'],
    },
  },
} as const;

/**
 * An ajv for plugin configs: every error reported, defaults filled in, the shared definitions
 * registered. verbose: each error carries the schema it comes from and the value it was about,
 * which the error describer needs for an error behind a $ref (its schemaPath is in the base schema).
 */
export function pluginAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: false });
  ajv.addSchema(PLUGIN_BASE_SCHEMA);
  return ajv;
}
