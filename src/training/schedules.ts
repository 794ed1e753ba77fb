// Learning-rate schedules as transformers' optimization.py: each is a function of the number of
// optimizer steps already taken (0 for the first update) returning the factor that multiplies
// the initial learning rate (torch's LambdaLR). The first update with warmup uses factor 0.

export type SchedulerType = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';
export const SCHEDULER_TYPES: readonly SchedulerType[] = ['constant', 'constant_with_warmup', 'linear', 'cosine'];

export type LrLambda = (current_step: number) => number;

function warmup(current_step: number, num_warmup_steps: number): number {
  return current_step / Math.max(1, num_warmup_steps);
}

export function get_constant_schedule(): LrLambda {
  return () => 1;
}

export function get_constant_schedule_with_warmup(num_warmup_steps: number): LrLambda {
  return (s) => (s < num_warmup_steps ? warmup(s, num_warmup_steps) : 1);
}

/** Linear warmup from 0 to 1, then linear decay to 0 at num_training_steps. */
export function get_linear_schedule_with_warmup(num_warmup_steps: number, num_training_steps: number): LrLambda {
  return (s) => {
    if (s < num_warmup_steps) return warmup(s, num_warmup_steps);
    return Math.max(0, (num_training_steps - s) / Math.max(1, num_training_steps - num_warmup_steps));
  };
}

/** Linear warmup, then a cosine from 1 down to 0 over num_cycles (default half a period). */
export function get_cosine_schedule_with_warmup(num_warmup_steps: number, num_training_steps: number, num_cycles = 0.5): LrLambda {
  return (s) => {
    if (s < num_warmup_steps) return warmup(s, num_warmup_steps);
    const progress = (s - num_warmup_steps) / Math.max(1, num_training_steps - num_warmup_steps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * num_cycles * 2 * progress)));
  };
}

/** transformers' get_scheduler for the supported names. */
export function get_scheduler(name: SchedulerType, { num_warmup_steps = 0, num_training_steps }: { num_warmup_steps?: number; num_training_steps: number }): LrLambda {
  if (!Number.isInteger(num_warmup_steps) || num_warmup_steps < 0) throw new Error(`get_scheduler: num_warmup_steps must be a non-negative integer, got ${num_warmup_steps}`);
  if (!Number.isInteger(num_training_steps) || num_training_steps < 1) throw new Error(`get_scheduler: num_training_steps must be a positive integer, got ${num_training_steps}`);
  switch (name) {
    case 'constant':
      return get_constant_schedule();
    case 'constant_with_warmup':
      return get_constant_schedule_with_warmup(num_warmup_steps);
    case 'linear':
      return get_linear_schedule_with_warmup(num_warmup_steps, num_training_steps);
    case 'cosine':
      return get_cosine_schedule_with_warmup(num_warmup_steps, num_training_steps);
    default:
      throw new Error(`get_scheduler: unknown lr_scheduler_type '${String(name)}'; expected one of ${SCHEDULER_TYPES.join(', ')}`);
  }
}

/** HF's TrainingArguments.get_warmup_steps: warmup_steps when > 0, else ceil(warmup_ratio × total). */
export function get_warmup_steps(num_training_steps: number, warmup_steps = 0, warmup_ratio = 0): number {
  return warmup_steps > 0 ? warmup_steps : Math.ceil(num_training_steps * warmup_ratio);
}
