// Where a run is and how long it has left, from its own events (their `time` is the server's clock).
// No DOM here: the panel, the class banner and bench/eta_replay.mjs all read runs through it.
//
// Time left = the steps left at the run's pace (the median of its recent step times, so one slow
// step does not swing it; the first step's warm-up is left out once there are others)
//           + the held-out evaluations and ΔW spectra still due, at the time each took so far
//           + writing the tuned model's answers, as long as writing the base model's took.
// Step times are measured from the event before each step, so an evaluation is never counted as
// a slow step.
import { stageWords } from './facts.js';

// Loading stages in words: app/training/stages.py's table, read through the page facts.
export function stageText(stage) {
  return stageWords(stage) || `Preparing (${stage})`;
}

const RECENT_STEPS = 7; // the median of this many step times is the pace
const SAMPLES_GUESS_STEPS = 4; // answers written from a cache took no time: guess this many steps

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Due after `step` (itself included) up to `steps`: every `every`-th step and the last one.
function dueFrom(step, steps, every) {
  if (!(every > 0)) return 0;
  let n = Math.floor(steps / every) - Math.floor((step - 1) / every);
  if (steps % every !== 0 && step <= steps) n += 1; // the last step, when not a multiple
  return Math.max(0, n);
}

export class RunClock {
  constructor() {
    this.reset();
  }

  reset() {
    this.phase = 'waiting'; // queued | loading | training | finishing | done | failed | cancelled
    this.stage = null;
    this.progress = 0;
    this.position = null;
    this.queueEta = null;
    this.steps = 0;
    this.step = 0;
    this.evalEvery = 0;
    this.spectrumEvery = 0;
    this.gaps = []; // seconds per step, step 1 first
    this.evalS = null;
    this.spectrumS = null;
    this.samplesS = null;
    this.stageAt = {};
    this.evalsSeen = new Set();
    this.spectraSeen = new Set();
    this.pending = null; // what the run does right after the step just reported: 'eval' | 'spectrum'
    this.last = null; // the previous event
  }

  add(event) {
    const t = event.time;
    const since = this.last && t != null && this.last.time != null ? t - this.last.time : null;
    switch (event.type) {
      case 'queued':
        this.phase = 'queued';
        this.position = event.position;
        this.queueEta = event.eta_s;
        break;
      case 'loading':
        this.phase = event.stage === 'tuned samples' ? 'finishing' : 'loading';
        this.stage = event.stage;
        this.progress = event.progress || 0;
        this.stageAt[event.stage] ??= t;
        if (event.stage === 'step-0 evaluation' && this.stageAt['base samples'] != null) {
          this.samplesS = t - this.stageAt['base samples'];
        }
        break;
      case 'started':
        this.steps = event.steps || 0;
        this.evalEvery = Number(event.config?.eval_every) || 0;
        this.spectrumEvery = Number(event.config?.spectrum_every) || 0;
        if (this.phase !== 'finishing') this.phase = 'loading';
        break;
      case 'step':
        this.phase = 'training';
        this.step = event.step;
        if (since != null && since >= 0) this.gaps.push(since);
        this.pending = this.due('eval', event.step) ? 'eval' : null;
        break;
      case 'eval':
        this.evalsSeen.add(event.step);
        if (event.step === 0 && this.stageAt['step-0 evaluation'] != null) this.evalS = t - this.stageAt['step-0 evaluation'];
        else if (event.step > 0 && since != null) this.evalS = since;
        this.pending = this.pending === 'eval' && this.due('spectrum', event.step) ? 'spectrum' : null;
        break;
      case 'spectrum':
        this.spectraSeen.add(event.step);
        if (event.step > 0 && since != null) this.spectrumS = since;
        this.pending = null;
        break;
      case 'done': case 'failed': case 'cancelled':
        this.phase = event.type;
        this.pending = null;
        break;
      default:
    }
    if (event.type === 'step' && !this.pending && this.due('spectrum', event.step)) this.pending = 'spectrum';
    if (t != null) this.last = event;
  }

  // Whether an evaluation (or spectrum) is due right after this step and has not come yet.
  due(kind, step) {
    const every = kind === 'eval' ? this.evalEvery : this.spectrumEvery;
    const seen = kind === 'eval' ? this.evalsSeen : this.spectraSeen;
    if (kind === 'spectrum' && !this.spectraSeen.size) return false; // a method without spectra
    return every > 0 && !seen.has(step) && (step % every === 0 || step === this.steps);
  }

  // Seconds per training step: the median of the recent ones, step 1 (warm-up) left out when it can be.
  pace() {
    const gaps = this.gaps.length > 1 ? this.gaps.slice(1) : this.gaps;
    return gaps.length ? median(gaps.slice(-RECENT_STEPS)) : null;
  }

  // Seconds left as of the last event, or null while there is nothing to go on (still loading).
  remaining() {
    if (['done', 'failed', 'cancelled'].includes(this.phase)) return 0;
    const pace = this.pace();
    const samples = this.samplesS != null && this.samplesS >= 1 ? this.samplesS : pace != null ? SAMPLES_GUESS_STEPS * pace : null;
    if (this.phase === 'finishing') { // writing the tuned answers: what is left of it

      const spent = this.last ? this.last.time - (this.stageAt['tuned samples'] ?? this.last.time) : 0;
      return samples != null ? Math.max(samples - spent, 1) : null;
    }
    if (pace == null || !this.steps) return null;
    const next = this.step + 1; // what is due after the steps left, and right now after this one
    const evals = dueFrom(next, this.steps, this.evalEvery) + (this.due('eval', this.step) ? 1 : 0);
    const spectra = this.spectraSeen.size
      ? dueFrom(next, this.steps, this.spectrumEvery) + (this.due('spectrum', this.step) ? 1 : 0)
      : 0;
    return (this.steps - this.step) * pace + evals * (this.evalS ?? pace) + spectra * (this.spectrumS ?? 0) + samples;
  }

  // The status line: where the run is, in words, agreeing with the step count.
  status() {
    switch (this.phase) {
      case 'queued':
        return this.position === 0 ? 'Queued: next in line' : `Queued: ${this.position} job(s) ahead`;
      case 'loading': {
        const pct = this.progress > 0 && this.progress < 1 ? ` ${Math.round(this.progress * 100)}%` : '';
        return `${stageText(this.stage)}…${pct}`;
      }
      case 'training': {
        const at = `Training: step ${this.step} of ${this.steps}`;
        if (this.pending === 'eval') return `${at} done; measuring the held-out loss…`;
        if (this.pending === 'spectrum') return `${at} done; taking ΔW's singular values…`;
        return this.step >= this.steps ? `${at} done` : at;
      }
      case 'finishing':
        return `Training done (${this.steps} steps). ${stageText('tuned samples')}…`;
      default:
        return '';
    }
  }
}

// Time left in words: never "0.0 s" while work remains.
export function timeLeftText(s, formatSeconds) {
  if (s == null) return '–';
  if (s < 1) return 'a moment';
  return `about ${formatSeconds(s)}`;
}
