// Preloaded with `node -r ./clock-skew.js`: shifts this process's clock by CLOCK_SKEW_SECONDS, as a cloud function
// host with a wrong clock would. The function's code is not touched.
const skewMs = Number(process.env.CLOCK_SKEW_SECONDS || 0) * 1000
const RealDate = Date
class SkewedDate extends RealDate {
  constructor (...args) {
    if (args.length === 0) {
      super(RealDate.now() + skewMs)
    } else {
      super(...args)
    }
  }

  static now () {
    return RealDate.now() + skewMs
  }
}
global.Date = SkewedDate
