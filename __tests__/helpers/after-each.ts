// Runs after every test: the harnesses a test made are checked (no contract or security
// violation) and closed.
import { closeTestHarnesses } from './simulator.js'

afterEach(closeTestHarnesses)
