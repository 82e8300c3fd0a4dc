import { runTranscripts } from './harness/transcripts';

runTranscripts('join');
