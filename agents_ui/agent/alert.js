// Making an offer impossible to miss: a ring tone (Web Audio, no sound files) repeated while
// the offer rings, and a blinking tab title when the console is in the background.

const RING_EVERY_MS = 2500;

export class Alerter {
  constructor() {
    this.soundOn = true;
    this.audio = null;
    this.ringTimer = null;
    this.titleTimer = null;
    this.baseTitle = document.title;
  }

  /** Browsers only allow audio after a user gesture; call this from one (the login click). */
  unlock() {
    if (this.audio || !window.AudioContext) return;
    try {
      this.audio = new AudioContext();
    } catch {
      this.audio = null;
    }
  }

  tone(frequencies, length = 0.18) {
    if (!this.soundOn || !this.audio || this.audio.state !== "running") return;
    const start = this.audio.currentTime;
    frequencies.forEach((frequency, i) => {
      const osc = this.audio.createOscillator();
      const gain = this.audio.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      const t = start + i * (length + 0.04);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.18, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + length);
      osc.connect(gain).connect(this.audio.destination);
      osc.start(t);
      osc.stop(t + length + 0.02);
    });
  }

  /** Start ringing for an offer (idempotent while already ringing). */
  ring(text) {
    this.tone([880, 660, 880]);
    if (!this.ringTimer) this.ringTimer = setInterval(() => this.tone([880, 660, 880]), RING_EVERY_MS);
    let on = false;
    clearInterval(this.titleTimer);
    this.titleTimer = setInterval(() => {
      on = !on;
      document.title = on ? `● ${text}` : this.baseTitle;
    }, 800);
  }

  /** A short chime for a new chat message in a contact not on screen. */
  chime() {
    this.tone([1040], 0.12);
  }

  stop() {
    clearInterval(this.ringTimer);
    clearInterval(this.titleTimer);
    this.ringTimer = null;
    this.titleTimer = null;
    document.title = this.baseTitle;
  }
}
