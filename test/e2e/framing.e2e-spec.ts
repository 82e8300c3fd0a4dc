import { runTranscripts } from './harness/transcripts';

runTranscripts('framing');
