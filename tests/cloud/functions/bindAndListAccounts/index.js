// A merchant's cloud function binding an account with a carrier, then listing its accounts.
const cloud = require('wx-server-sdk')
cloud.init()
exports.main = async (event, context) => {
  try {
    await cloud.openapi.logistics.bindAccount({
      type: 'bind',
      deliveryId: event.deliveryId,
      bizId: event.bizId
    })
    return await cloud.openapi.logistics.getAllAccount({})
  } catch (err) {
    return err
  }
}
