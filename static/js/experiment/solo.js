// Solo learner: filled in below once the recorded class results exist.
export async function mountSolo() {}
