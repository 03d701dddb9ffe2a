/** Render vega-lite specs to standalone SVG strings (headless, no network, no canvas). */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The `$schema` of every chart aimc draws. */
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Compile a vega-lite spec and render it to an SVG document string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
