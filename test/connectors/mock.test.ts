import mockConnector from '../../connectors/mock.ts';
import { describeConnectorContract } from './_suite.ts';

describeConnectorContract('mock', () => Promise.resolve({ connector: mockConnector() }));
