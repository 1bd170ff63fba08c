// A merchant's cloud function reading several orders at once.
const cloud = require('wx-server-sdk')
cloud.init()
exports.main = async (event, context) => {
  try {
    return await cloud.openapi.logistics.batchGetOrder({
      orderList: event.orderList
    })
  } catch (err) {
    return err
  }
}
