import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The bundle measurement (scripts/measure-sizes.sh): same browser and server as the suite,
// its own folder so that the test command never runs it.
export default defineConfig({
  ...base,
  testDir: './measure',
  timeout: 180_000,
  projects: [{ name: 'measure', use: base.projects![0].use }],
});
