// `copy HOST|@TAG|all`: put the new system's closure on the hosts (peers first, the uplink for the rest)
// without switching, e.g. ahead of a switch at a quiet hour.
import { pipelineVerb } from '../src/verbs/pipeline-verb.ts';

export default pipelineVerb({
  name: 'copy',
  summary: 'build and copy what the hosts lack, from peers first, without switching',
  until: 'copy',
  access: 'deploy',
});
