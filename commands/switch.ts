// `switch HOST|@TAG|all`: build, copy and activate the new system, as `nixos-rebuild switch --target-host`
// does, without asking about the screen's display manager.
import { pipelineVerb } from '../src/verbs/pipeline-verb.ts';

export default pipelineVerb({
  name: 'switch',
  summary: 'build, copy and switch the hosts to their new system, without restarting the screen',
  until: 'switch',
  access: 'deploy',
});
