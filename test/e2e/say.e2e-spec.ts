import { runTranscripts } from './harness/transcripts';

runTranscripts('say');
