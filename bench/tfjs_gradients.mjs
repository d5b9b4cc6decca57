// tfjs_gradients.mjs — registers tfjs-core's gradients and its chained ops (x.reshape(), x.add(),
// …), which tfjs-core itself never does: the union package @tensorflow/tfjs imports its
// dist/register_all_gradients.js and dist/public/chained_ops/register_all_chained_ops.js, and
// the core's node bundle, tf-core.node.js, has neither. Those files and everything they import are ES modules with
// extensionless relative imports ('./gradients/Abs_grad') in a package node treats as CommonJS,
// so the hooks below (run by node's module.register) add the ".js" and load them as modules.
// They share tf-core.node.js's engine and registries, which tfjs keeps on globalThis.
//
//   import './tfjs_gradients.mjs';   // after require('@tensorflow/tfjs-core'), before any tf.grad
import { register } from 'node:module';

const hooks = `
const inCoreDist = (url) => url?.includes('/@tensorflow/tfjs-core/dist/') && !url.endsWith('/tf-core.node.js');
export async function resolve(specifier, context, next) {
  if (inCoreDist(context.parentURL) && /^\\.\\.?\\//.test(specifier) && !specifier.endsWith('.js'))
    return next(specifier + '.js', context);
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (inCoreDist(url)) {
    const loaded = await next(url, { ...context, format: 'module' });
    return { format: 'module', source: loaded.source, shortCircuit: true };
  }
  return next(url, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hooks), import.meta.url);
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
await import('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js');
