import { defineConfig } from 'tsdown';
import { packageBuild } from '../../tsdown.base.ts';

export default defineConfig({
  ...packageBuild({ index: 'src/index.ts' }),
  // The dashboard reads its files at `new URL('./assets/', import.meta.url)`,
  // which is dist/assets/ once bundled.
  copy: [{ from: 'src/dashboard/assets/*', to: 'dist/assets' }],
});
