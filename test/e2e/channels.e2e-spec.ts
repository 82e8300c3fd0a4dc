import { runTranscripts } from './harness/transcripts';

runTranscripts('channels');
