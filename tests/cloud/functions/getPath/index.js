// A merchant's cloud function reading a path, in the style of the seed's own.
const cloud = require('wx-server-sdk')
cloud.init()
exports.main = async (event, context) => {
  try {
    return await cloud.openapi.logistics.getPath({
      openid: event.openid,
      orderId: event.orderId,
      deliveryId: event.deliveryId,
      waybillId: event.waybillId
    })
  } catch (err) {
    return err
  }
}
