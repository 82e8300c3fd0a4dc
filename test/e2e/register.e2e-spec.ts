import { runTranscripts } from './harness/transcripts';

runTranscripts('register');
