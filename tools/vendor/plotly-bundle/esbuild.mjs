// Bundle a plotly.js entry file into one minified browser script that sets window.Plotly.
// Run by tools/build_plotly_bundle.py inside a temp dir holding `npm ci` of this folder's lock file:
//     node esbuild.mjs ENTRY OUTFILE BANNER_FILE
// Uses the options of plotly.js's own dist builds (esbuild-config.js in the plotly.js package) that apply to the
// SVG trace types. A WebGL or map trace type (scattergl, scattermap, ...) would also need its GLSL and inline-CSS
// plugins (esbuild-plugin-glsl, esbuild-plugin-inline-css, pinned in package.json) instead of noCss below.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const [entry, outfile, bannerFile] = process.argv.slice(2);

// A JS string literal on one line, either quote.
const STRING = String.raw`(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")`;
// An array item: strings and names joined by +, e.g. 'Sets the ' + axLetter + ' axis.'
const ITEM = String.raw`(?:${STRING}|[\w.$]+)(?:\s*\+\s*(?:${STRING}|[\w.$]+))*`;
// Only removed when followed by a comma or the closing brace, so a value that goes on (`'a' + b`) stays.
const END = String.raw`\s*(?:,|(?=\}))`;
// Attribute docs read only by Plotly.PlotSchema (documentation tools), never when drawing:
// plotly.js strips the same keys from its dist bundles. The whitespace before a key stays: eating the line
// break could pull the next line into a `// comment` ending the previous one.
const META = [
    new RegExp(String.raw`\b(?:description|hrName):\s*${STRING}${END}`, 'g'),
    new RegExp(String.raw`\bdescription:\s*\[\s*(?:${ITEM}(?:\s*,\s*${ITEM})*\s*,?)?\s*\]\.join\(\s*${STRING}\s*\)${END}`, 'g'),
];

/** esbuild plugin: drop the schema docs from plotly.js's own sources as they load. */
const stripMeta = {
    name: 'strip-plotly-meta',
    setup(b) {
        b.onLoad({ filter: /[\\/]plotly\.js[\\/]src[\\/].*\.js$/ }, (args) => {
            const source = readFileSync(args.path, 'utf8');
            return { contents: META.reduce((text, re) => text.replace(re, ''), source), loader: 'js' };
        });
    },
};

/** esbuild plugin: an empty module for CSS; the only one plotly requires is maplibre's, for map traces. */
const noCss = {
    name: 'no-css',
    setup(b) {
        b.onResolve({ filter: /\.css$/ }, (args) => ({ path: args.path, namespace: 'no-css' }));
        b.onLoad({ filter: /.*/, namespace: 'no-css' }, () => ({ contents: '', loader: 'js' }));
    },
};

await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'Plotly',
    target: 'es2016',
    // As plotly.js's build: some bundled packages look for node's `global` or an AMD loader.
    define: { global: 'window', 'define.amd': 'false' },
    legalComments: 'eof', // keep the licences of the bundled packages
    banner: { js: readFileSync(bannerFile, 'utf8') },
    // dcc.Graph uses window.Plotly when a page already has one; said explicitly rather than relying on
    // a top-level `var` becoming a window property.
    footer: { js: 'window.Plotly = Plotly;' },
    plugins: [stripMeta, noCss],
    logLevel: 'warning',
});
