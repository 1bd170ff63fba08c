// A merchant's cloud function asking a carrier for its account's labels left.
const cloud = require('wx-server-sdk')
cloud.init()
exports.main = async (event, context) => {
  try {
    return await cloud.openapi.logistics.getQuota({
      deliveryId: event.deliveryId,
      bizId: event.bizId
    })
  } catch (err) {
    return err
  }
}
