// `plan HOST|@TAG|all`: build, then show where each missing path would come from. Changes nothing on hosts.
import { pipelineVerb } from '../src/verbs/pipeline-verb.ts';

export default pipelineVerb({
  name: 'plan',
  summary: 'build and show what each host holds and what would come from peers and over the uplink',
  until: 'plan',
  access: 'view',
});
