/** @module Runs the store contract against the in-memory store. */

import { memoryStore } from '../../src/store/memory.ts';
import { describeStoreContract } from './_suite.ts';

describeStoreContract('memory', () => memoryStore());
