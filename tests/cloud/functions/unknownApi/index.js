// Calls an open API that does not exist, to see how the platform refuses it.
const cloud = require('wx-server-sdk')
cloud.init()
exports.main = async (event, context) => {
  try {
    return await cloud.openapi.logistics.noSuchApi({})
  } catch (err) {
    return err
  }
}
