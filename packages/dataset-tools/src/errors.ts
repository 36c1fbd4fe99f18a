import { CodedError } from '@genimage/shared'

/** Stable machine-readable codes for every error the dataset tools raise on bad input. */
export type DatasetErrorCode =
  | 'not_a_directory'
  | 'no_archives_found'
  | 'unknown_generator_archive'
  | 'incomplete_split_archive'
  | 'join_failed'
  | 'unsafe_archive_entry'
  | 'bad_checksum_list'
  | 'bad_option'
  | 'empty_dataset'
  | 'checksum_mismatch'
  | 'package_unavailable'

/** An error a user can act on: `code` is stable, `message` names the file or entry at fault. */
export class DatasetError extends CodedError<DatasetErrorCode> {}
