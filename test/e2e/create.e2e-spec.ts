import { runTranscripts } from './harness/transcripts';

runTranscripts('create');
