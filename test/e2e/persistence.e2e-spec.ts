import { runTranscripts } from './harness/transcripts';

runTranscripts('persistence');
