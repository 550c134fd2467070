/** The versioned `send` job type of the core tests, for the API and dashboard tests. */
export {
  UPCASTER_MESSAGE,
  versionedRegistries,
} from '../../../core/test/helpers/versioned-jobs.ts';
