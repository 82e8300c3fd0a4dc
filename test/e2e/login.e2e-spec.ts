import { runTranscripts } from './harness/transcripts';

runTranscripts('login');
